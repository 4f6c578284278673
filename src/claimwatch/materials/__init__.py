"""Materials checklist (理赔材料标准化清单): what a claim needs, the one-time notice of what is
missing (保险法 art. 22 一次性告知), supplement rounds (补交) and the documents received."""
