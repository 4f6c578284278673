"""Process analytics (M17): event logs from XES files or the case-event table, directly-follows
graphs with performance, variants, bottlenecks, rework and case durations."""
