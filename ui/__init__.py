"""The Streamlit side of the app: shared widgets, strings, view functions, the server entry."""
