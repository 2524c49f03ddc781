package dev.cm3leon.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds the CPU emulator of the packaged kernels (src/test/emulator) with the host C++ compiler: each kernel
 * source is compiled unchanged with {@code -DCM3LEON_EMULATE}, its {@code extern "C"} kernels (found in the
 * preprocessed source, macros expanded) registered by name, and all linked into one shared library that
 * {@link EmulatedDevice} calls. The same library also carries stand-ins for the CUDA driver and cuBLAS entry points
 * (fake_driver.cpp), through which the real {@link CudaDevice} runs in tests. Built once per content hash under
 * target/emulator.
 */
final class KernelEmulator {
    private static final Pattern KERNEL = Pattern.compile("extern\\s+\"C\"\\s+void\\s+(\\w+)\\s*\\(");
    private static Optional<Path> built;
    private static String reason = "";

    private KernelEmulator() {
    }

    /** The emulator library, or empty (see {@link #unavailableReason}) where it cannot be built. */
    static synchronized Optional<Path> library() {
        if (built == null) {
            try {
                built = Optional.of(build());
            } catch (Exception e) {
                reason = e.getMessage();
                built = Optional.empty();
            }
        }
        return built;
    }

    static String unavailableReason() {
        return reason;
    }

    private static Path build() throws Exception {
        if (!System.getProperty("os.arch").equals("amd64") || !System.getProperty("os.name").toLowerCase().contains("linux")) {
            throw new IllegalStateException("the kernel emulator needs Linux on x86-64");
        }
        String cxx = System.getenv().getOrDefault("CXX", "g++");
        KernelImages images = KernelImages.load();
        List<String[]> files = new ArrayList<>();  // name, text
        files.add(new String[]{KernelImages.HEADER, images.text(KernelImages.HEADER)});
        for (KernelImages.Op op : images.ops()) files.add(new String[]{op.source(), images.text(op.source())});
        files.add(new String[]{"emulator.h", resource("emulator/emulator.h")});
        files.add(new String[]{"emulator.cpp", resource("emulator/emulator.cpp")});
        files.add(new String[]{"fake_driver.cpp", resource("emulator/fake_driver.cpp")});
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        for (String[] f : files) {
            sha.update(f[0].getBytes(StandardCharsets.UTF_8));
            sha.update(f[1].getBytes(StandardCharsets.UTF_8));
        }
        Path root = Path.of(System.getProperty("cm3leon.emulator.dir", "target/emulator")).toAbsolutePath();
        Path dir = root.resolve(HexFormat.of().formatHex(sha.digest()).substring(0, 16));
        Path lib = dir.resolve("libcm3leon_emu.so");
        if (Files.isRegularFile(lib)) return lib;

        Path work = Files.createDirectories(root).resolve("build-" + ProcessHandle.current().pid());
        Files.createDirectories(work);
        for (String[] f : files) Files.writeString(work.resolve(f[0]), f[1]);
        List<String> common = List.of("-std=c++17", "-DCM3LEON_EMULATE", "-I", work.toString());
        List<Process> compiles = new ArrayList<>();
        List<String> objects = new ArrayList<>();
        for (KernelImages.Op op : images.ops()) {
            Path cu = work.resolve(op.source());
            String pre = run(concat(List.of(cxx, "-x", "c++", "-E"), common, List.of(cu.toString())), work);
            Set<String> names = new LinkedHashSet<>();
            Matcher m = KERNEL.matcher(pre);
            while (m.find()) names.add(m.group(1));
            StringBuilder reg = new StringBuilder("#include \"" + op.source() + "\"\n");
            for (String n : names) reg.append("static emu::Registrar reg_").append(n).append("(\"").append(n).append("\", &").append(n).append(");\n");
            Path regFile = work.resolve("reg_" + op.name() + ".cpp");
            Files.writeString(regFile, reg);
            String obj = work.resolve(op.name() + ".o").toString();
            objects.add(obj);
            compiles.add(start(concat(List.of(cxx, "-O1", "-fPIC", "-ffp-contract=off", "-fno-strict-aliasing", "-w", "-c"),
                    common, List.of(regFile.toString(), "-o", obj)), work));
        }
        String runtime = work.resolve("emulator.o").toString(), driver = work.resolve("fake_driver.o").toString();
        compiles.add(start(concat(List.of(cxx, "-O1", "-fPIC", "-c"), common, List.of(work.resolve("emulator.cpp").toString(), "-o", runtime)), work));
        compiles.add(start(List.of(cxx, "-std=c++17", "-O1", "-fPIC", "-c", work.resolve("fake_driver.cpp").toString(), "-o", driver), work));
        for (Process p : compiles) finish(p);
        Path tmp = work.resolve("libcm3leon_emu.so");
        List<String> link = new ArrayList<>(List.of(cxx, "-shared", "-o", tmp.toString()));
        link.addAll(objects);
        link.add(runtime);
        link.add(driver);
        run(link, work);
        Files.createDirectories(dir);
        Files.move(tmp, lib, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return lib;
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = KernelEmulator.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("test resource " + name + " missing");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @SafeVarargs
    private static List<String> concat(List<String>... parts) {
        List<String> all = new ArrayList<>();
        for (List<String> p : parts) all.addAll(p);
        return all;
    }

    private static Process start(List<String> command, Path dir) throws IOException {
        try {
            return new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command.get(0) + " (a C++ compiler builds the kernel emulator): " + e.getMessage());
        }
    }

    private static String finish(Process p) throws Exception {
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException("emulator build failed: " + p.info().commandLine().orElse("?") + "\n" + out);
        }
        return out;
    }

    private static String run(List<String> command, Path dir) throws Exception {
        try {
            return finish(start(command, dir));
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
