# Runs one libFuzzer binary for SECONDS seconds from a scratch copy of CORPUS, so the
# committed corpus is never modified by a test run. Fails when the fuzzer finds a crash.
file(REMOVE_RECURSE ${SCRATCH})
file(MAKE_DIRECTORY ${SCRATCH})
execute_process(COMMAND ${FUZZER} -max_total_time=${SECONDS} -max_len=8192 -timeout=10
                        -rss_limit_mb=1024 -artifact_prefix=${SCRATCH}/ ${DICT}
                        ${SCRATCH} ${CORPUS}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fuzzer ${FUZZER} failed (${rc}); reproducer in ${SCRATCH}")
endif()
