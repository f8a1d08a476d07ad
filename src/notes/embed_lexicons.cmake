# Generates a C++ source holding every data/lexicons/*.txt as a raw string literal, so that the
# binary classifies notes without the data directory. Run as:
#   cmake -DLEXICON_DIR=<dir> -DOUTPUT=<file.cc> -P embed_lexicons.cmake
file(GLOB lexicon_files "${LEXICON_DIR}/*.txt")
list(SORT lexicon_files)
set(body "")
set(count 0)
foreach(path ${lexicon_files})
  get_filename_component(name ${path} NAME)
  file(READ ${path} text)
  string(FIND "${text}" ")mvlexicon\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${path} contains the raw-string delimiter )mvlexicon\"")
  endif()
  string(APPEND body "    {\"${name}\", R\"mvlexicon(${text})mvlexicon\"},\n")
  math(EXPR count "${count} + 1")
endforeach()
set(content "// Generated from data/lexicons by embed_lexicons.cmake; do not edit.
#include \"notes/lexicons_embedded.h\"

namespace medvault::notes {

const EmbeddedLexiconFile kEmbeddedLexiconFiles[] = {
${body}};
const std::size_t kEmbeddedLexiconFileCount = ${count};

}  // namespace medvault::notes
")
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} previous)
  if(previous STREQUAL content)
    return()
  endif()
endif()
file(WRITE ${OUTPUT} "${content}")
