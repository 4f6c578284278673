"""Worker heartbeats: each pass kind records when it last ran, so a silent worker is noticed."""
