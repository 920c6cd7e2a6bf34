# Compiler warnings, probed so that gcc and clang both accept them.
include(CheckCCompilerFlag)

set(SH_WARNING_FLAGS "")
foreach(flag -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 -Wvla
             -Wmissing-prototypes -Wpointer-arith -Wundef -Wno-unused-parameter)
    string(MAKE_C_IDENTIFIER "HAVE_C_FLAG${flag}" var)
    check_c_compiler_flag(${flag} ${var})
    if(${var})
        list(APPEND SH_WARNING_FLAGS ${flag})
    endif()
endforeach()
if(SSEHUB_WERROR)
    list(APPEND SH_WARNING_FLAGS -Werror)
endif()

# Applies the project's warnings to |target|.
function(sh_warnings target)
    target_compile_options(${target} PRIVATE ${SH_WARNING_FLAGS})
endfunction()
