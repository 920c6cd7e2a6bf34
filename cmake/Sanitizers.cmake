# SSEHUB_SANITIZE="address;undefined" (or "thread") builds everything with sanitizers.
set(SSEHUB_SANITIZE "" CACHE STRING "Sanitizers to build with: address;undefined or thread")

if(SSEHUB_SANITIZE)
    string(REPLACE ";" "," SH_SANITIZE_LIST "${SSEHUB_SANITIZE}")
    set(SH_SANITIZE_FLAGS -fsanitize=${SH_SANITIZE_LIST} -fno-omit-frame-pointer
                          -fno-sanitize-recover=all)
    add_compile_options(${SH_SANITIZE_FLAGS})
    add_link_options(-fsanitize=${SH_SANITIZE_LIST})
    message(STATUS "ssehub: sanitizers ${SH_SANITIZE_LIST}")
endif()
