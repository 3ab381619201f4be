"""The adaptive red-team methods, one module each (registered in seval.redteam.base.REDTEAM_METHODS)."""
