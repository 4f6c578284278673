"""Risk (M7): red-flag rules and a trained model, the review queue (核查), and 降赔惜赔 detection."""
