"""The business calendar: Chinese working days with 调休 make-up days, and tenant business hours."""
