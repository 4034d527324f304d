# tessel_add_unit_test(NAME name SOURCES ... LIBS ... [LABELS ...])
# One cmocka executable per unit file, registered with ctest under label
# "unit" plus any extra labels.
function(tessel_add_unit_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(test_${T_NAME} ${T_SOURCES})
  target_link_libraries(test_${T_NAME} PRIVATE ${T_LIBS} ${CMOCKA_LIBRARIES})
  target_include_directories(test_${T_NAME} PRIVATE ${CMOCKA_INCLUDE_DIRS}
    ${PROJECT_SOURCE_DIR}/tests)
  tessel_set_warnings(test_${T_NAME})
  add_test(NAME ${T_NAME} COMMAND test_${T_NAME})
  set_tests_properties(${T_NAME} PROPERTIES LABELS "unit;${T_LABELS}"
    ENVIRONMENT "TESSEL_SOURCE_DIR=${PROJECT_SOURCE_DIR};TESSEL_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()
