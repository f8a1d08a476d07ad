# medvault_module(NAME [DEPS mv_x ...] [LIBS third-party targets ...] [POSTGRES])
#
# One static library per folder: every *.cc in the folder (not recursive) except *_test.cc,
# *_fuzz.cc and *_bench.cc goes into mv_NAME. Unit tests (*_test.cc) become NAME_test, registered
# with CTest under the `unit` label. Fuzz targets (*_fuzz.cc) are linked with the corpus replay driver
# and their corpus under tests/fuzz/corpus/<target> is replayed as a test labelled `fuzz`.
# POSTGRES: the unit tests need the private PostgreSQL cluster of tests/tools/pg_cluster.sh; they
# are labelled `postgres` (instead of `unit`) and require the CTest fixture that starts and stops it.
function(medvault_module NAME)
  cmake_parse_arguments(M "POSTGRES" "" "DEPS;LIBS;TEST_LIBS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  list(FILTER srcs EXCLUDE REGEX "(_(test|fuzz|bench)|/main)\\.cc$")
  if(srcs)
    add_library(mv_${NAME} STATIC ${srcs})
    target_link_libraries(mv_${NAME} PUBLIC medvault_options ${M_DEPS} PRIVATE ${M_LIBS})
  else()
    # A module whose sources have not landed yet: headers only.
    add_library(mv_${NAME} INTERFACE)
    target_link_libraries(mv_${NAME} INTERFACE medvault_options ${M_DEPS})
  endif()

  if(MEDVAULT_TESTS)
    file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
    if(tests)
      add_executable(${NAME}_test ${tests})
      target_link_libraries(${NAME}_test PRIVATE mv_${NAME} ${M_LIBS} ${M_TEST_LIBS}
                            mv_testing GTest::gmock GTest::gtest_main)
      if(M_POSTGRES)
        gtest_discover_tests(${NAME}_test
            WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
            PROPERTIES LABELS postgres FIXTURES_REQUIRED postgres
                       ENVIRONMENT "MEDVAULT_TEST_PG_DIR=${MEDVAULT_TEST_PG_DIR}"
            DISCOVERY_TIMEOUT 60)
      else()
        gtest_discover_tests(${NAME}_test
            WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
            PROPERTIES LABELS unit ENVIRONMENT "MEDVAULT_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
            DISCOVERY_TIMEOUT 60)
      endif()
    endif()
    file(GLOB fuzzers CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_fuzz.cc)
    foreach(fuzzer ${fuzzers})
      get_filename_component(fname ${fuzzer} NAME_WE)
      add_executable(${fname} ${fuzzer})
      target_link_libraries(${fname} PRIVATE mv_${NAME} ${M_LIBS} ${M_TEST_LIBS} mv_fuzz_replay)
      add_test(NAME ${fname}.corpus
               COMMAND ${fname} ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${fname})
      set_tests_properties(${fname}.corpus PROPERTIES LABELS fuzz)
    endforeach()
  endif()
endfunction()
