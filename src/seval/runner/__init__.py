"""The executor that sends test cases to targets and critics, and the SQLite run store behind resume."""
