// A function not written yet: a new file holds only a comment (esbuild
// bundles it into nothing, with a source map without mappings).
