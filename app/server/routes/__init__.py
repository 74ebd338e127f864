"""HTTP routes; handlers parse and answer, services and store modules do the work."""
