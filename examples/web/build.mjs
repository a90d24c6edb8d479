// Bundles the browser app into dist/public (issue 6 fills this in).
