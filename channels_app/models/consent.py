"""(filled in by its capability)"""
