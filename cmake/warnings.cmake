# Project-wide compile options. Third-party headers come from /usr/include and are system headers, so
# the strict warnings below apply to our code only.
set(MEDVAULT_WARNINGS
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Wunused -Woverloaded-virtual -Wdouble-promotion
    -Wformat=2 -Wimplicit-fallthrough)
# GCC 12 reports memcpy overflows and overlaps inside inlined std::vector/std::string code that
# cannot happen (GCC bugs 105329, 105651, 106199); they break optimised builds of correct code.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND MEDVAULT_WARNINGS -Wno-stringop-overflow -Wno-restrict)
endif()
if(MEDVAULT_WERROR)
  list(APPEND MEDVAULT_WARNINGS -Werror)
endif()

add_library(medvault_options INTERFACE)
target_compile_options(medvault_options INTERFACE ${MEDVAULT_WARNINGS})
target_include_directories(medvault_options INTERFACE ${PROJECT_SOURCE_DIR}/src)

if(MEDVAULT_SANITIZE)
  target_compile_options(medvault_options INTERFACE
      -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(medvault_options INTERFACE -fsanitize=address,undefined)
endif()

if(MEDVAULT_HARDEN)
  target_compile_options(medvault_options INTERFACE
      -D_FORTIFY_SOURCE=2 -D_GLIBCXX_ASSERTIONS -fstack-protector-strong -fstack-clash-protection
      -fcf-protection -fPIE)
  target_link_options(medvault_options INTERFACE -pie -Wl,-z,relro,-z,now,-z,noexecstack)
endif()
