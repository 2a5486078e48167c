# filesfs: fuse-native's binding built from native/fuse-native.c against the
# system libfuse 3 (pkg-config fuse3; Debian libfuse3-dev), copied over the
# package's own binding.gyp by native/build-fuse-native.mjs. The package's
# version links its bundled libfuse 2 and copies it into build/Release.
{
  "targets": [{
    "target_name": "fuse",
    "include_dirs": [
      "<!(node -e \"require('napi-macros')\")"
    ],
    "cflags": [
      "-g",
      "-O3",
      "-Wall",
      "<!@(pkg-config --cflags fuse3)"
    ],
    "libraries": [
      "<!@(pkg-config --libs fuse3)"
    ],
    "sources": [
      "fuse-native.c"
    ]
  }]
}
