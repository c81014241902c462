"""The console pages' data logic (queries and computations), testable without HTTP."""
