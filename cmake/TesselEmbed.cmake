# cmake -DIN=file -DOUT=file.c -DSYM=name -P TesselEmbed.cmake
# Writes OUT, a C file defining `const char SYM[]` (IN's bytes plus a
# terminating 0) and `const unsigned long SYM_len` (IN's size), so a source
# file can be carried inside a binary and written out at run time.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" body "${body}")
file(WRITE "${OUT}.tmp"
  "/* Generated from ${IN} by cmake/TesselEmbed.cmake; do not edit. */\n"
  "const char ${SYM}[] = {\n${body}0};\n"
  "const unsigned long ${SYM}_len = ${len}UL;\n")
file(RENAME "${OUT}.tmp" "${OUT}")
