# tessel_set_warnings(target): the project's warning set; -Werror when
# TESSEL_WERROR is on (CI turns it on).
function(tessel_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wpointer-arith -Wformat=2 -Wno-unused-parameter
    -Werror=implicit-function-declaration -Werror=vla)
  if(TESSEL_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
