"""Tests of the location stage (seiscore.location) and the seiscore-locate job."""
