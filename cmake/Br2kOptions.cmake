# Compiler warnings, sanitizers and ccache for every BR2K target.
set(BR2K_SANITIZE "" CACHE STRING "Sanitizers: empty, 'address' (ASan+UBSan) or 'thread' (TSan)")
set_property(CACHE BR2K_SANITIZE PROPERTY STRINGS "" address thread)
option(BR2K_WERROR "Treat warnings as errors" ON)

find_program(BR2K_CCACHE ccache)
if(BR2K_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${BR2K_CCACHE})
endif()

add_library(br2k_warnings INTERFACE)
# Designated initializers that leave members at their defaults are intended; GCC 12's -Wextra
# would flag each one. GCC 12 also reports Boost.Asio's coroutine frames (allocated and freed by
# Asio's own awaitable_frame_base operators) as a mismatched new/delete once inlining reaches
# them: a false positive (GCC PR 109224), so that check is off.
target_compile_options(br2k_warnings INTERFACE -Wall -Wextra -Wno-missing-field-initializers
                                               -Wno-mismatched-new-delete
                                               $<$<BOOL:${BR2K_WERROR}>:-Werror>)

if(NOT BR2K_SANITIZE STREQUAL "")
  # GCC 12's flow analysis under -fsanitize reports variants in coroutine frames as "maybe
  # uninitialized" (e.g. `co_return Result<void>()`); the plain build keeps the warning.
  add_compile_options(-Wno-maybe-uninitialized)
  # -O1 keeps sanitized builds of the coroutine-heavy sources several times faster to compile and
  # their reports precise; sanitizer runs check correctness, not speed.
  string(REGEX REPLACE "-O[23s]" "-O1" CMAKE_CXX_FLAGS_RELWITHDEBINFO "${CMAKE_CXX_FLAGS_RELWITHDEBINFO}")
  string(REGEX REPLACE "-O[23s]" "-O1" CMAKE_CXX_FLAGS_RELEASE "${CMAKE_CXX_FLAGS_RELEASE}")
endif()
if(BR2K_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(BR2K_SANITIZE STREQUAL "thread")
  # -Wno-tsan: Boost.Asio's internals use std::atomic_thread_fence, which TSan cannot model and
  # GCC 12 warns about in every includer; BR2K's own code uses no standalone fences.
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -Wno-tsan)
  add_link_options(-fsanitize=thread)
elseif(NOT BR2K_SANITIZE STREQUAL "")
  message(FATAL_ERROR "BR2K_SANITIZE must be empty, 'address' or 'thread'")
endif()

# br2k_add_library(<name> SOURCES ... DEPS ...): a library with public headers in include/ and an
# exported alias br2k::<name>.
function(br2k_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(br2k_${name} ${ARG_SOURCES})
  add_library(br2k::${name} ALIAS br2k_${name})
  set_target_properties(br2k_${name} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME br2k_${name}
                                                POSITION_INDEPENDENT_CODE ON)
  target_include_directories(br2k_${name} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:include>)
  target_link_libraries(br2k_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS}
                        $<BUILD_INTERFACE:br2k_warnings>)
  set_property(GLOBAL APPEND PROPERTY BR2K_EXPORTED_TARGETS br2k_${name})
  install(DIRECTORY include/ DESTINATION include)
endfunction()
