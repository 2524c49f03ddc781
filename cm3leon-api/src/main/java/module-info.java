/** cm3leon-java: CM3Leon-family multimodal models (Chameleon, Anole and Lumina-mGPT checkpoints, HF, Lumina or Meta layout) on the JVM. */
module dev.cm3leon {
    requires jdk.incubator.vector;
    requires org.slf4j;
    requires com.fasterxml.jackson.databind;
    requires org.apache.lucene.core;
    requires java.desktop;

    exports dev.cm3leon;
    exports dev.cm3leon.checkpoint;
    exports dev.cm3leon.engine;
    exports dev.cm3leon.decode;
    exports dev.cm3leon.engine.cpu;
    exports dev.cm3leon.tokenizer;
    exports dev.cm3leon.vq;
    exports dev.cm3leon.retrieval;

    uses dev.cm3leon.engine.Backend;
    provides dev.cm3leon.engine.Backend with dev.cm3leon.engine.cpu.CpuBackend;
}
