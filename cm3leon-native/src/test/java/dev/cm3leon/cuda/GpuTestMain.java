package dev.cm3leon.cuda;

import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.engine.TestExecutionResult;

import java.io.PrintWriter;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/**
 * Runs the GPU test suites without Maven (benchmarks/gpu-check.sh on a GPU host): kernels against their Java twins,
 * fixture parity of the CUDA engine, backend selection and the packaged kernels. Exits 1 on any failure, and also
 * when the GPU suites were skipped (no GPU is a failure of a GPU check).
 */
public final class GpuTestMain {
    private GpuTestMain() {
    }

    public static void main(String[] args) {
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request().selectors(
                selectClass(CudaBackendTest.class), selectClass(KernelResourcesTest.class), selectClass(PhiloxTest.class),
                selectClass(ForwardKernelsOnGpuTest.class), selectClass(SamplingKernelsOnGpuTest.class),
                selectClass(CudaEngineParityOnGpuTest.class)).build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        int[] skipped = {0};
        TestExecutionListener lines = new TestExecutionListener() {
            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                if (!id.isTest()) return;
                String status = result.getStatus().toString();
                System.out.printf("%-10s %s%n", status, id.getLegacyReportingName() + " " + id.getUniqueId().replaceAll(".*\\[class:dev.cm3leon.cuda.([^\\]]*)\\].*", "$1"));
                result.getThrowable().ifPresent(t -> System.out.println("           " + t.toString().lines().findFirst().orElse("")));
            }

            @Override
            public void executionSkipped(TestIdentifier id, String reason) {
                skipped[0]++;
                System.out.printf("SKIPPED    %s: %s%n", id.getDisplayName(), reason);
            }
        };
        launcher.execute(request, summary, lines);
        summary.getSummary().printTo(new PrintWriter(System.out));
        summary.getSummary().printFailuresTo(new PrintWriter(System.out), 20);
        long failed = summary.getSummary().getTotalFailureCount();
        long aborted = summary.getSummary().getTestsAbortedCount() + skipped[0];
        System.out.printf("RESULT gpu_tests_passed %d%nRESULT gpu_tests_failed %d%nRESULT gpu_tests_skipped %d%n",
                summary.getSummary().getTestsSucceededCount(), failed, aborted);
        System.exit(failed == 0 && summary.getSummary().getTestsSucceededCount() > 0 ? 0 : 1);
    }
}
