"""Admin of customer segments and the segment overview."""
