package dev.cm3leon.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * FFM downcalls into NVRTC: compiles a packaged kernel source to a cubin for the device at hand, the fallback when
 * neither the fatbin nor the PTX in the jar fits it.
 */
final class Nvrtc {
    private final MethodHandle create, compile, logSize, log, cubinSize, cubin, destroy, errorString;

    private Nvrtc(NativeLibrary lib) {
        create = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS), "nvrtcCreateProgram");
        compile = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS), "nvrtcCompileProgram");
        logSize = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), "nvrtcGetProgramLogSize");
        log = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), "nvrtcGetProgramLog");
        cubinSize = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), "nvrtcGetCUBINSize");
        cubin = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), "nvrtcGetCUBIN");
        destroy = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS), "nvrtcDestroyProgram");
        errorString = lib.function(FunctionDescriptor.of(ADDRESS, JAVA_INT), "nvrtcGetErrorString");
    }

    static Optional<Nvrtc> open() {
        List<String> names = new ArrayList<>();
        names.add(System.getProperty("cm3leon.nvrtc"));
        names.add(System.getenv("CM3LEON_NVRTC"));
        names.add("libnvrtc.so.13");
        names.add("libnvrtc.so.12");
        names.add("libnvrtc.so");
        return NativeLibrary.open(names).map(Nvrtc::new);
    }

    /** Directories that may hold cuda_bf16.h and mma.h, for sources that include them. */
    static List<String> includeDirectories() {
        List<String> dirs = new ArrayList<>();
        for (String home : new String[]{System.getenv("CUDA_HOME"), System.getenv("CUDA_PATH"), "/usr/local/cuda"}) {
            if (home != null && Files.isRegularFile(Path.of(home, "include", "cuda_bf16.h"))) dirs.add(home + "/include");
        }
        return dirs;
    }

    /** Compiles {@code source} (with its headers, name → text) to a cubin for {@code sm_<major><minor>}. */
    byte[] compileToCubin(String name, String source, List<String[]> headers, int major, int minor, boolean fastMath) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment prog = a.allocate(ADDRESS);
            MemorySegment headerTexts = a.allocate(ADDRESS, Math.max(1, headers.size()));
            MemorySegment headerNames = a.allocate(ADDRESS, Math.max(1, headers.size()));
            for (int i = 0; i < headers.size(); i++) {
                headerNames.setAtIndex(ADDRESS, i, a.allocateFrom(headers.get(i)[0]));
                headerTexts.setAtIndex(ADDRESS, i, a.allocateFrom(headers.get(i)[1]));
            }
            check("nvrtcCreateProgram(" + name + ")", (int) create.invokeExact(prog, a.allocateFrom(source),
                    a.allocateFrom(name), headers.size(), headerTexts, headerNames));
            MemorySegment program = prog.get(ADDRESS, 0);
            try {
                List<String> options = new ArrayList<>(List.of("--gpu-architecture=sm_" + major + minor, "-std=c++17"));
                if (fastMath) options.add("--use_fast_math");
                for (String dir : includeDirectories()) options.add("-I" + dir);
                MemorySegment opts = a.allocate(ADDRESS, options.size());
                for (int i = 0; i < options.size(); i++) opts.setAtIndex(ADDRESS, i, a.allocateFrom(options.get(i)));
                int rc = (int) compile.invokeExact(program, options.size(), opts);
                if (rc != 0) throw new CudaException("nvrtcCompileProgram(" + name + ", " + options + ") failed: " + error(rc) + "\n" + log(a, program));
                MemorySegment size = a.allocate(JAVA_LONG);
                check("nvrtcGetCUBINSize", (int) cubinSize.invokeExact(program, size));
                MemorySegment out = a.allocate(size.get(JAVA_LONG, 0));
                check("nvrtcGetCUBIN", (int) cubin.invokeExact(program, out));
                return out.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            } finally {
                int ignored = (int) destroy.invokeExact(prog);
            }
        } catch (CudaException e) {
            throw e;
        } catch (Throwable t) {
            throw new CudaException("NVRTC call failed for " + name + ": " + t, t);
        }
    }

    private String log(Arena a, MemorySegment program) throws Throwable {
        MemorySegment size = a.allocate(JAVA_LONG);
        if ((int) logSize.invokeExact(program, size) != 0) return "";
        MemorySegment text = a.allocate(Math.max(1, size.get(JAVA_LONG, 0)));
        if ((int) log.invokeExact(program, text) != 0) return "";
        return text.getString(0);
    }

    private void check(String call, int rc) throws Throwable {
        if (rc != 0) throw new CudaException(call + " failed: " + error(rc));
    }

    private String error(int rc) throws Throwable {
        return NativeLibrary.string((MemorySegment) errorString.invokeExact(rc)) + " (" + rc + ")";
    }
}
