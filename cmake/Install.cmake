# `cmake --install build --prefix P` lays out:
#   P/bin/onnx-prune
#   P/include/onnxprune/{OnnxPrune.h,onnxprune.h,Plugin.h}
#   P/include/onnxprune/internal/...   the internal headers, for plugins
#   P/lib/libonnxprune.so, libonnxprune_c.so, libonnxruntime.so.1
#   P/lib/cmake/OnnxPrune/OnnxPruneConfig.cmake (+ version, targets)
#   P/lib/pkgconfig/onnxprune.pc
#   P/lib/python3/dist-packages/onnxprune/   (frontends/python)
# Everything finds its libraries relative to itself ($ORIGIN), so the tree
# can be moved; `cpack -G DEB` packages the same layout under /usr.
include(CMakePackageConfigHelpers)

set_target_properties(onnxprune onnxprune_c PROPERTIES INSTALL_RPATH "$ORIGIN")
install(TARGETS onnxprune onnxprune_c EXPORT OnnxPruneTargets
        LIBRARY DESTINATION lib
        INCLUDES DESTINATION include)
install(TARGETS onnx-prune RUNTIME DESTINATION bin)
install(FILES include/onnxprune/OnnxPrune.h include/onnxprune/onnxprune.h
              include/onnxprune/Plugin.h
        DESTINATION include/onnxprune)
foreach(dir lib passes frontends)
  install(DIRECTORY ${dir}/ DESTINATION include/onnxprune/internal/${dir}
          FILES_MATCHING PATTERN "*.h" PATTERN "*.def")
endforeach()
if(ONNXPRUNE_ENABLE_ORT)
  # libonnxprune.so needs it by its soname.
  install(FILES ${ORT_LIBRARY} DESTINATION lib RENAME libonnxruntime.so.1)
endif()

install(EXPORT OnnxPruneTargets NAMESPACE OnnxPrune::
        DESTINATION lib/cmake/OnnxPrune)
set(ONNXPRUNE_PLUGIN_DEFINITIONS "")
if(ONNXPRUNE_ENABLE_ORT)
  set(ONNXPRUNE_PLUGIN_DEFINITIONS "ONNXPRUNE_HAVE_ORT")
endif()
configure_package_config_file(cmake/OnnxPruneConfig.cmake.in
  ${CMAKE_BINARY_DIR}/OnnxPruneConfig.cmake
  INSTALL_DESTINATION lib/cmake/OnnxPrune)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/OnnxPruneConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/OnnxPruneConfig.cmake
              ${CMAKE_BINARY_DIR}/OnnxPruneConfigVersion.cmake
        DESTINATION lib/cmake/OnnxPrune)
# The prefix is the one given at install time, not at configure time
# (%...% placeholders: install scripts expand @VAR@ themselves).
install(CODE "
  set(prefix \"\${CMAKE_INSTALL_PREFIX}\")
  file(READ \"${CMAKE_SOURCE_DIR}/cmake/onnxprune.pc.in\" pc)
  string(REPLACE \"%PREFIX%\" \"\${prefix}\" pc \"\${pc}\")
  string(REPLACE \"%VERSION%\" \"${PROJECT_VERSION}\" pc \"\${pc}\")
  file(WRITE \"\$ENV{DESTDIR}\${prefix}/lib/pkgconfig/onnxprune.pc\" \"\${pc}\")
  message(STATUS \"Installing: \$ENV{DESTDIR}\${prefix}/lib/pkgconfig/onnxprune.pc\")
")

# cpack -G DEB: a Debian package of the same tree under /usr.
set(CPACK_PACKAGE_NAME onnx-prune)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "onnx-prune developers <onnx-prune@invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Structural pruning compiler for ONNX models: tool, C++/C/Python library")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libllvm14, libonnx1, libprotobuf32, zlib1g, python3-numpy")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
include(CPack)
