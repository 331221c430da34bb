"""From stored tables to the summary and report (calls the pure `reports` leaf once)."""
