import java.io.IOException;

public class EchoStdin {
    public static void main(String[] args) throws IOException {
        System.out.write(System.in.readAllBytes());
        System.out.flush();
    }
}
