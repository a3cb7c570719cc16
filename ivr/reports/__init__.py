"""Reports for managers: where calls come from, when they are lost, who answered, who was called back."""
