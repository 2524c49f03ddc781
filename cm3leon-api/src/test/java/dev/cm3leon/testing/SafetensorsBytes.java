package dev.cm3leon.testing;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Builds safetensors files byte by byte, including broken ones, for loader tests. */
public final class SafetensorsBytes {
    private SafetensorsBytes() {
    }

    /** 8-byte little-endian header length, the header, then the data section. */
    public static byte[] file(String headerJson, byte[] data) {
        return file(headerJson.getBytes(StandardCharsets.UTF_8), data);
    }

    public static byte[] file(byte[] header, byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
        out.writeBytes(header);
        out.writeBytes(data);
        return out.toByteArray();
    }

    /** One F32 tensor entry of the header. */
    public static String f32Entry(String name, long[] shape, long begin, long end) {
        StringBuilder s = new StringBuilder("\"").append(name).append("\":{\"dtype\":\"F32\",\"shape\":[");
        for (int i = 0; i < shape.length; i++) s.append(i == 0 ? "" : ",").append(shape[i]);
        return s.append("],\"data_offsets\":[").append(begin).append(",").append(end).append("]}").toString();
    }

    public static byte[] f32(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putFloat(v);
        return b.array();
    }
}
