package dev.cm3leon.solr;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a Solr memory bank lives: {@code solr://host:port[,host:port…]/collection} (Solr's URL path is {@code /solr}).
 * Several nodes let the client find the cluster while one of them is down.
 */
public record SolrBankAddress(List<String> nodeUrls, String collection) {
    public static final String SCHEME = "solr://";

    public SolrBankAddress {
        nodeUrls = List.copyOf(nodeUrls);
        if (nodeUrls.isEmpty()) throw new IllegalArgumentException("a Solr bank address needs at least one node");
        if (collection == null || !collection.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("a Solr collection name is letters, digits, '.', '_' or '-', got '" + collection + "'");
        }
    }

    public static boolean isSolr(String s) {
        return s != null && s.startsWith(SCHEME);
    }

    public static SolrBankAddress parse(String s) {
        if (!isSolr(s)) throw new IllegalArgumentException("a Solr bank address starts with " + SCHEME + ", got '" + s + "'");
        String rest = s.substring(SCHEME.length());
        int slash = rest.indexOf('/');
        if (slash <= 0 || slash == rest.length() - 1) {
            throw new IllegalArgumentException("expected " + SCHEME + "host:port[,host:port…]/collection, got '" + s + "'");
        }
        List<String> nodes = new ArrayList<>();
        for (String hostPort : rest.substring(0, slash).split(",")) {
            URI u = URI.create("http://" + hostPort);
            if (u.getHost() == null || u.getPort() < 0) {
                throw new IllegalArgumentException("'" + hostPort + "' in " + s + " is not host:port");
            }
            nodes.add("http://" + u.getHost() + ":" + u.getPort() + "/solr");
        }
        return new SolrBankAddress(nodes, rest.substring(slash + 1));
    }
}
