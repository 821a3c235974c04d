/*
 * Four bytes more in `.ex_table`: half an entry, so the table's size is no
 * multiple of the 8-byte element and the upload is refused (C-108).
 */
asm ( ".pushsection .ex_table, \"a\", @progbits\n"
      ".long 0\n"
      ".popsection" );
