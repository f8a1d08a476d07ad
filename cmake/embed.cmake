# medvault_embed_files(TARGET NAME FILES...)
# Generates NAME.cc in the build tree holding each file's text as a std::string_view, and adds it
# to TARGET. Lookup: `std::string_view EmbeddedNAME(std::string_view file_name)` returns "" for an
# unknown name. Editing a file re-runs the configure step.
function(medvault_embed_files TARGET NAME)
  set(out "${CMAKE_CURRENT_BINARY_DIR}/${NAME}.cc")
  set(body "// Generated from data files by cmake/embed.cmake; do not edit.\n#include <string_view>\n\nnamespace medvault {\n\nstd::string_view Embedded${NAME}(std::string_view file_name) {\n")
  foreach(file ${ARGN})
    get_filename_component(base ${file} NAME)
    file(READ ${file} content)
    string(APPEND body "  if (file_name == \"${base}\") return R\"medvault_embed(${content})medvault_embed\";\n")
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
  endforeach()
  string(APPEND body "  return {};\n}\n\n}  // namespace medvault\n")
  file(WRITE ${out}.tmp "${body}")
  configure_file(${out}.tmp ${out} COPYONLY)
  target_sources(${TARGET} PRIVATE ${out})
endfunction()
