"""The worker process: registers the workflow and the activities."""
