"""Jobs that compose the stages (reading, picking, writing); the CLI calls these."""
