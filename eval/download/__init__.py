"""Downloads of the zoo tarballs and COCO 2017 val: HTTP fetch, cache, safe extraction."""
