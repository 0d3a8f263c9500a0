"""The REST API for territories and reps."""
