# Installs the libraries and a package config so that other projects can find_package(br2k).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
get_property(br2k_targets GLOBAL PROPERTY BR2K_EXPORTED_TARGETS)

# Our public headers need C++20 (std::span, coroutines). CMAKE_CXX_STANDARD only covers this build,
# so the exported targets carry the requirement for projects that find_package(br2k).
foreach(target IN LISTS br2k_targets)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    target_compile_features(${target} INTERFACE cxx_std_20)
  else()
    target_compile_features(${target} PUBLIC cxx_std_20)
  endif()
endforeach()

install(TARGETS ${br2k_targets} EXPORT br2kTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT br2kTargets NAMESPACE br2k:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/br2k)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/br2kConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/br2kConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/br2k)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/br2kConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/br2kConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/br2kConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/br2k)
