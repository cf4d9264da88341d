"""Tests of the LAC sandbox itself, over its real wire formats."""
