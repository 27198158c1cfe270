"""Test data for eval/tracking (testonly): synthetic_results."""
