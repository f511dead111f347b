"""Export of result sets: Hugging Face Hub dataset folders and pushing them (``hub``)."""
