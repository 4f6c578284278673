"""The quality committee (品质管理委员会): a monthly agenda generated from what needs deciding, and its minutes."""
