# libFuzzer targets (clang only, as in h2o) and the plain replay driver that runs every
# committed corpus under ctest with any compiler.

# Support code every target may use: parser transcripts, the growable test string, the
# event log (callbacks that record copies) and the counting allocator.
set(SH_FUZZ_SUPPORT ${PROJECT_SOURCE_DIR}/tests/support/transcript.c
                    ${PROJECT_SOURCE_DIR}/tests/support/testutil.c
                    ${PROJECT_SOURCE_DIR}/tests/support/evlog.c
                    ${PROJECT_SOURCE_DIR}/tests/support/failalloc.c)

# libFuzzer steers by the coverage of the code under test, so the fuzz binaries link an
# instrumented copy of the core (-fsanitize=fuzzer-no-link), built from the same sources as
# sh_core_objs. ssehub_static, used by the replay drivers, tests and programs, stays plain:
# its objects would otherwise need the libFuzzer runtime to link.
if(SSEHUB_BUILD_FUZZ AND NOT TARGET sh_core_fuzz)
    get_target_property(SH_CORE_SOURCES sh_core_objs SOURCES)
    add_library(sh_core_fuzz STATIC ${SH_CORE_SOURCES})
    target_compile_options(sh_core_fuzz PRIVATE -fsanitize=fuzzer-no-link)
    target_include_directories(sh_core_fuzz PUBLIC ${PROJECT_SOURCE_DIR}/include
                                                   ${PROJECT_SOURCE_DIR}/src)
    sh_warnings(sh_core_fuzz)
endif()

# sh_fuzz_target(NAME [SOURCES src...] [LIBS lib...]): fuzz/NAME.c becomes a replay test
# always, and a libFuzzer binary build/fuzz/NAME when SSEHUB_BUILD_FUZZ is on. SOURCES are
# code under test from outside the core (e.g. src/server/*.c), compiled into the target
# itself so that the libFuzzer build instruments them; LIBS are what they link.
function(sh_fuzz_target name)
    cmake_parse_arguments(F "" "" "SOURCES;LIBS" ${ARGN})
    set(corpus ${PROJECT_SOURCE_DIR}/fuzz/corpus/${name})
    add_executable(${name}_replay ${PROJECT_SOURCE_DIR}/fuzz/${name}.c
                                  ${PROJECT_SOURCE_DIR}/fuzz/replay_main.c ${SH_FUZZ_SUPPORT}
                                  ${F_SOURCES})
    target_link_libraries(${name}_replay PRIVATE ssehub_static ${F_LIBS})
    target_include_directories(${name}_replay PRIVATE ${PROJECT_SOURCE_DIR}/src
                                                      ${PROJECT_SOURCE_DIR}/tests)
    set_target_properties(${name}_replay PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
    sh_warnings(${name}_replay)
    add_test(NAME fuzz_replay_${name} COMMAND ${name}_replay ${corpus})
    set_tests_properties(fuzz_replay_${name} PROPERTIES LABELS "fuzz")

    if(SSEHUB_BUILD_FUZZ)
        add_executable(${name} ${PROJECT_SOURCE_DIR}/fuzz/${name}.c ${SH_FUZZ_SUPPORT}
                               ${F_SOURCES})
        target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
        target_link_options(${name} PRIVATE -fsanitize=fuzzer)
        target_link_libraries(${name} PRIVATE sh_core_fuzz ${F_LIBS})
        target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src
                                                   ${PROJECT_SOURCE_DIR}/tests)
        set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
        sh_warnings(${name})
        # Replay the corpus through the instrumented binary as well (-runs=0 runs only
        # the given inputs), then fuzz briefly from it with a fresh scratch corpus.
        add_test(NAME fuzz_libfuzzer_replay_${name} COMMAND ${name} -runs=0 ${corpus})
        set(dict ${PROJECT_SOURCE_DIR}/fuzz/dict/${name}.dict)
        set(dict_arg "")
        if(EXISTS ${dict})
            set(dict_arg -dict=${dict})
        endif()
        add_test(NAME fuzz_run_${name}
                 COMMAND ${CMAKE_COMMAND} -E env ${CMAKE_COMMAND}
                         -DFUZZER=$<TARGET_FILE:${name}> -DCORPUS=${corpus}
                         -DSCRATCH=${CMAKE_BINARY_DIR}/fuzz/scratch-${name}
                         -DSECONDS=${SSEHUB_FUZZ_SECONDS} "-DDICT=${dict_arg}"
                         -P ${PROJECT_SOURCE_DIR}/cmake/FuzzRun.cmake)
        set_tests_properties(fuzz_libfuzzer_replay_${name} fuzz_run_${name}
                             PROPERTIES LABELS "fuzz")
    endif()
endfunction()
