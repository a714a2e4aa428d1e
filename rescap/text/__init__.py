"""Text tools shared by the captioner and the restorer adapters: exact token counting
(``tokens``), phrase splitting and fitting at phrase boundaries (``phrases``), and removal of
words that describe the degradation (``degradation_words``)."""
