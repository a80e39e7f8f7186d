"""Figures, animations and explorers of each assignment, built on relu_course.plotting."""
