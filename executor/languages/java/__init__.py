"""Java: javac then java, with a warm javac server; everything Java-specific lives here."""

from executor.languages.java.plan import java_plan

__all__ = ["java_plan"]
