package dev.cm3leon.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The tensors of an HF checkpoint folder: {@code model.safetensors}, or the shards listed in
 * {@code model.safetensors.index.json}. Shard names must stay inside the folder, every indexed tensor must be in the
 * shard the index names, and no tensor may appear in two shards.
 */
public final class SafetensorsCheckpoint implements TensorSource {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path folder;
    private final List<SafetensorsFile> files;
    private final Map<String, Tensor> tensors;

    private SafetensorsCheckpoint(Path folder, List<SafetensorsFile> files, Map<String, Tensor> tensors) {
        this.folder = folder;
        this.files = files;
        this.tensors = tensors;
    }

    public static boolean isCheckpointFolder(Path folder) {
        return Files.isRegularFile(folder.resolve(SINGLE_FILE)) || Files.isRegularFile(folder.resolve(INDEX_FILE));
    }

    public static SafetensorsCheckpoint open(Path folder) {
        Path index = folder.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) return openSharded(folder, index);
        Path single = folder.resolve(SINGLE_FILE);
        if (!Files.isRegularFile(single)) {
            throw CheckpointException.of(folder, "no " + SINGLE_FILE + " or " + INDEX_FILE + " in the folder");
        }
        SafetensorsFile file = SafetensorsFile.open(single);
        return new SafetensorsCheckpoint(folder, List.of(file), file.tensors());
    }

    private static SafetensorsCheckpoint openSharded(Path folder, Path index) {
        JsonNode root = JsonFiles.read(index);
        JsonNode weightMap = root == null ? null : root.get("weight_map");
        if (weightMap == null || !weightMap.isObject()) {
            throw CheckpointException.of(index, "missing object field 'weight_map'");
        }
        Map<String, String> tensorToShard = new LinkedHashMap<>();
        weightMap.properties().forEach(e -> {
            if (!e.getValue().isTextual()) {
                throw CheckpointException.of(index, "weight_map." + e.getKey() + " must be a shard file name");
            }
            tensorToShard.put(e.getKey(), e.getValue().asText());
        });
        Path realFolder;
        try {
            realFolder = folder.toRealPath();
        } catch (IOException e) {
            throw CheckpointException.of(folder, "cannot resolve the folder: " + e.getMessage());
        }
        List<SafetensorsFile> files = new ArrayList<>();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        try {
            Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
            for (String shardName : new TreeSet<>(tensorToShard.values())) {
                Path shard = confine(index, realFolder, shardName);
                SafetensorsFile file = SafetensorsFile.open(shard);
                files.add(file);
                byName.put(shardName, file);
                for (Tensor t : file.tensors().values()) {
                    if (tensors.putIfAbsent(t.name(), t) != null) {
                        throw CheckpointException.of(shard, "tensor '" + t.name() + "' also appears in another shard");
                    }
                }
            }
            for (Map.Entry<String, String> e : tensorToShard.entrySet()) {
                if (byName.get(e.getValue()).find(e.getKey()).isEmpty()) {
                    throw CheckpointException.of(index, "tensor '" + e.getKey() + "' is listed in shard '" + e.getValue()
                            + "' but that shard does not contain it");
                }
            }
        } catch (RuntimeException e) {
            files.forEach(SafetensorsFile::close);
            throw e;
        }
        return new SafetensorsCheckpoint(folder, List.copyOf(files), Collections.unmodifiableMap(tensors));
    }

    /** Resolves a shard name, refusing absolute paths and anything that leaves the checkpoint folder. */
    private static Path confine(Path index, Path realFolder, String shardName) {
        if (shardName.isEmpty() || shardName.contains("\0")) {
            throw CheckpointException.of(index, "shard name '" + shardName + "' is not a file name");
        }
        Path candidate;
        try {
            candidate = realFolder.resolve(shardName).normalize();
        } catch (java.nio.file.InvalidPathException e) {
            throw CheckpointException.of(index, "shard name '" + shardName + "' is not a valid path");
        }
        if (Path.of(shardName).isAbsolute() || !candidate.startsWith(realFolder)) {
            throw CheckpointException.of(index, "shard '" + shardName + "' escapes the checkpoint folder");
        }
        if (!Files.isRegularFile(candidate, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(candidate)) {
            throw CheckpointException.of(index, "shard '" + shardName + "' is missing");
        }
        try {
            Path target = candidate.toRealPath();
            if (!target.startsWith(realFolder) && !target.startsWith(hubBlobs(realFolder))) {
                throw CheckpointException.of(index, "shard '" + shardName + "' links outside the checkpoint folder");
            }
        } catch (IOException e) {
            throw CheckpointException.of(index, "shard '" + shardName + "': " + e.getMessage());
        }
        return candidate;
    }

    /**
     * Where a Hugging Face hub cache keeps the files its snapshot folders link to ({@code models--x/blobs} beside
     * {@code models--x/snapshots/<revision>}); a path that matches nothing otherwise.
     */
    private static Path hubBlobs(Path realFolder) {
        Path snapshots = realFolder.getParent();
        if (snapshots == null || snapshots.getParent() == null || !snapshots.getFileName().toString().equals("snapshots")) {
            return realFolder;
        }
        return snapshots.getParent().resolve("blobs");
    }

    /** Throws if a file of the checkpoint was cut short on disk since it was loaded (see {@link SafetensorsFile#requireIntact}). */
    @Override
    public void requireIntact() {
        files.forEach(SafetensorsFile::requireIntact);
    }

    public Path folder() {
        return folder;
    }

    @Override
    public Map<String, Tensor> tensors() {
        return tensors;
    }


    @Override
    public String describe() {
        return folder.toString();
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
