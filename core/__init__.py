"""Model logic of the AI demo app: no Streamlit pages here, only typed functions."""
